//go:build !unix

package debezium

import "time"

// processCPU is not measured here; the msgs/cpu-s metric is left out.
func processCPU() time.Duration { return 0 }
