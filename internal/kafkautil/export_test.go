package kafkautil

import "time"

// SetClock makes h read the time from now (tests of the grace period).
func (h *Health) SetClock(now func() time.Time) { h.now = now }

// BrokerGrace is how long one broker may stay unreachable before it is
// logged at error.
const BrokerGrace = brokerGrace
