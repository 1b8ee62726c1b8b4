package callback_test

import "runtime"

// runtimeStats reads the process's allocation count.
type runtimeStats struct{ mallocs uint64 }

func (s *runtimeStats) read() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mallocs = m.Mallocs
}
