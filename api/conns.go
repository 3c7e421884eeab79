package api

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ConnLimit caps the connections an http.Server holds. At the cap a new
// connection takes the place of the one idle longest (a keep-alive
// client that went quiet, or one that never reads its answers); when
// none is idle for Wait, the newcomer gets a short 503 and is closed.
// So a crowd of slow clients cannot use up the file limit, and a new
// client is still served. Wire both halves:
//
//	lim := api.NewConnLimit(ln, max, 0)
//	srv.ConnState = lim.ConnState
//	srv.Serve(lim)
type ConnLimit struct {
	net.Listener
	max  int
	wait time.Duration

	mu    sync.Mutex
	conns map[net.Conn]*connInfo
	freed chan struct{} // closed and replaced when a connection goes idle or away
	// busy is set when a wait for room ran out and cleared when room
	// appears: meanwhile newcomers are refused at once, so a flood of
	// them drains from the backlog without a wait each.
	busy bool
	// refuse answers a connection turned away; nil: refuseConn's 503.
	// The raw 9100 port sets a plain close (no HTTP on a printer port).
	refuse func(net.Conn)
}

type connInfo struct {
	idle  bool
	since time.Time
}

// NewConnLimit wraps ln; max <= 0 means 128, wait <= 0 means 250 ms.
func NewConnLimit(ln net.Listener, max int, wait time.Duration) *ConnLimit {
	if max <= 0 {
		max = 128
	}
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	return &ConnLimit{Listener: ln, max: max, wait: wait, conns: map[net.Conn]*connInfo{}, freed: make(chan struct{})}
}

// Accept returns the next connection, making room for it first.
func (l *ConnLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		if l.refuse != nil {
			go l.refuse(c)
		} else {
			go refuseConn(c)
		}
	}
}

// admit makes room for c (closing the longest idle connection) and
// counts it in; false after wait without room.
func (l *ConnLimit) admit(c net.Conn) bool {
	var timeout <-chan time.Time
	for {
		l.mu.Lock()
		if len(l.conns) < l.max {
			l.conns[c] = &connInfo{since: time.Now()}
			l.mu.Unlock()
			return true
		}
		var victim net.Conn
		var oldest time.Time
		for vc, ci := range l.conns {
			if ci.idle && (victim == nil || ci.since.Before(oldest)) {
				victim, oldest = vc, ci.since
			}
		}
		if victim != nil {
			delete(l.conns, victim)
			l.conns[c] = &connInfo{since: time.Now()}
			l.mu.Unlock()
			victim.Close()
			return true
		}
		if l.busy {
			l.mu.Unlock()
			return false
		}
		freed := l.freed
		l.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(l.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-timeout:
			l.mu.Lock()
			l.busy = true
			l.mu.Unlock()
			return false
		}
	}
}

// ConnState is the http.Server's ConnState hook: it tells the limit which
// connections are idle and which are gone.
func (l *ConnLimit) ConnState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ci, ok := l.conns[c]
	switch st {
	case http.StateActive:
		if ok {
			ci.idle = false
		}
		return
	case http.StateIdle:
		if ok {
			ci.idle, ci.since = true, time.Now()
		}
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		return
	}
	l.busy = false
	close(l.freed)
	l.freed = make(chan struct{})
}

// Len is the number of connections counted in.
func (l *ConnLimit) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// busyAnswer is what a connection over the limit gets before it is closed.
var busyAnswer = func() []byte {
	body := `{"error":{"code":"` + CodeTooManyConns + `","message":"the bench has too many open connections; try again in a moment"}}` + "\n"
	return []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}()

// refuseConn answers 503 without reading the request and closes c.
func refuseConn(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(busyAnswer)
	c.Close()
}
