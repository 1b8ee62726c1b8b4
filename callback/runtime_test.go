package callback_test

import (
	"runtime"
	"syscall"
	"time"
)

// runtimeStats reads the process's allocation count and CPU time.
type runtimeStats struct {
	mallocs uint64
	cpu     time.Duration
}

func (s *runtimeStats) read() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mallocs = m.Mallocs
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
}
