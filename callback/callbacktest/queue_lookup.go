package callbacktest

import "net/url"

// queueByURL returns the queue of the fake that a QueueUrl names, matched by
// its path only (so localhost and 127.0.0.1 both work), and whether there is
// one.
//
// This is a stand-in that knows the one queue of today (s.queue); it is
// replaced at merge by the version of the SQS side of the package, which
// knows every queue made with CreateQueue.
func (s *Server) queueByURL(u string) (*queue, bool) {
	pu, err := url.Parse(u)
	if err != nil || pu.Path != s.queue.path {
		return nil, false
	}
	return s.queue, true
}
