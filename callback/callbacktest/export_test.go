package callbacktest

// SetTestHook makes s call f with the operation of every well-formed request,
// after its members were decoded and before the rate limit, faults and
// processing. A panic in f shows how the server treats a panicking handler.
func SetTestHook(s *Server, f func(op string)) {
	if f == nil {
		s.testHook.Store(nil)
		return
	}
	s.testHook.Store(&f)
}
