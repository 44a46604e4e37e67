package kafkatest

import (
	"net"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// CutListener is a broker's listener (kfake.ListenFn) that can close every
// connection it accepted, as a broker going away or a proxy dropping
// connections does, while the broker itself stays up.
type CutListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *CutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// Cut closes the connections accepted so far.
func (l *CutListener) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// Listen is a kfake option that makes the broker listen through a
// CutListener, stored in *ln once the cluster listens.
func Listen(ln **CutListener) kfake.Opt {
	return kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		*ln = &CutListener{Listener: l}
		return *ln, nil
	})
}
