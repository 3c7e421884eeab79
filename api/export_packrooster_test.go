package api

// HoldLabelURLs takes every label URL slot, as that many slow downloads
// would; the returned function gives them back.
func (s *Server) HoldLabelURLs() (release func()) {
	for range cap(s.labelURLs) {
		s.labelURLs <- struct{}{}
	}
	return func() {
		for range cap(s.labelURLs) {
			<-s.labelURLs
		}
	}
}
