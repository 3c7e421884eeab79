// Package station is the bench's business: orders, shipments, carriers,
// tracking, and the hands-free scan → weigh → print flow. It is the only
// package that knows the whole bench.
package station
