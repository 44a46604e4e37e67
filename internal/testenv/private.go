package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// PrivateServer is a PostgreSQL or Redis server of the test's own, on a
// free loopback port with its data in the test's temporary directory.
// Outage tests stop and start it; the shared servers of scripts/services.sh
// are never touched. It is stopped when the test ends.
//
// Stop and Start are meant for the test goroutine: they fail the test
// (t.Fatal) when the server does not stop or come back.
type PrivateServer struct {
	t     testing.TB
	name  string // "redis" or "postgres", for messages
	port  int
	dir   string
	url   string
	cmd   func() *exec.Cmd            // the server process, in the foreground
	ready func(context.Context) error // nil once it accepts connections
	stop  os.Signal                   // asks the server to shut down cleanly
	quit  os.Signal                   // ends it at once, at the end of the test
	log   string                      // the server's output

	mu      sync.Mutex
	running *exec.Cmd     // nil while stopped
	exited  chan struct{} // closed when the running process ended
}

// URL is the server's connection URL; it stays the same across restarts.
func (s *PrivateServer) URL() string { return s.url }

// Port is the loopback port the server listens on.
func (s *PrivateServer) Port() int { return s.port }

// Dir is the server's data directory.
func (s *PrivateServer) Dir() string { return s.dir }

// Start starts the server on its port and data directory and waits until it
// accepts connections.
func (s *PrivateServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("private %s: %v", s.name, err)
	}
}

// Stop shuts the server down cleanly (its data is kept) and waits until the
// process has exited, so the port is closed when it returns. Clients see
// their connections dropped, as in a real restart.
func (s *PrivateServer) Stop() {
	s.t.Helper()
	if err := s.shutdown(s.stop, 60*time.Second); err != nil {
		s.t.Fatalf("private %s: %v", s.name, err)
	}
}

func (s *PrivateServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		return errors.New("already running")
	}
	cmd := s.cmd()
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.running, s.exited = cmd, exited

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.running = nil
			return fmt.Errorf("the server exited while starting: %s", s.tail())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			s.running = nil
			return fmt.Errorf("not ready within 60s (%v): %s", err, s.tail())
		case <-tick.C:
		}
	}
}

// shutdown sends sig and waits for the process to end, killing it after
// timeout. It is a no-op when the server is not running.
func (s *PrivateServer) shutdown(sig os.Signal, timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := s.running
	if cmd == nil {
		return nil
	}
	s.running = nil
	exited := s.exited
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("signal: %w; killed", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("did not stop within %s; killed", timeout)
	}
}

// tail is the end of the server's output, for a failure message.
func (s *PrivateServer) tail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds it, which is unlikely enough for
// tests.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PrivateRedis starts a redis-server of the test's own. Its append-only
// file is written on every command, so a Stop and Start (or even a crash)
// keep every acknowledged write, as a production Redis with persistence
// would. args are more redis-server options. The test is skipped when
// redis-server is not installed.
func PrivateRedis(t testing.TB, args ...string) *PrivateServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server is not installed (scripts/services.sh up installs it): %v", err)
	}
	s := &PrivateServer{t: t, name: "redis", port: freePort(t), dir: t.TempDir(), stop: syscall.SIGTERM, quit: syscall.SIGKILL}
	s.log = filepath.Join(s.dir, "redis.log")
	s.url = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
	s.cmd = func() *exec.Cmd {
		return exec.Command(bin, append([]string{
			"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
			"--daemonize", "no", "--save", "",
			"--appendonly", "yes", "--appendfsync", "always"}, args...)...)
	}
	opts, err := redis.ParseURL(s.url)
	if err != nil {
		t.Fatalf("private redis: %v", err)
	}
	opts.MaxRetries = -1 // a refused connection is the answer while it starts
	s.ready = func(ctx context.Context) error {
		c := redis.NewClient(opts)
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	t.Cleanup(func() { s.cleanup() })
	s.Start()
	return s
}

// PrivatePostgres initialises and starts a PostgreSQL cluster of the
// test's own (trust authentication, user postgres, database postgres).
// When the test runs as root, the server runs as the postgres OS user,
// which PostgreSQL requires. The test is skipped when the PostgreSQL server
// binaries are not installed.
func PrivatePostgres(t testing.TB) *PrivateServer {
	t.Helper()
	bin := postgresBin(t)
	cred, err := postgresCredential()
	if err != nil {
		t.Fatalf("private postgres: %v", err)
	}
	base := t.TempDir()
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatalf("private postgres: %v", err)
	}
	if cred != nil {
		// The postgres user must reach its data directory through the
		// test's temporary directories, which only root may enter.
		for _, d := range []string{filepath.Dir(base), base} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatalf("private postgres: %v", err)
			}
		}
		if err := chownTo(data, cred); err != nil {
			t.Fatalf("private postgres: %v", err)
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	asUser(initdb, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("private postgres: initdb: %v\n%s", err, out)
	}
	// SIGQUIT is PostgreSQL's immediate shutdown: the children go too.
	s := &PrivateServer{t: t, name: "postgres", port: freePort(t), dir: data, stop: syscall.SIGINT, quit: syscall.SIGQUIT}
	s.log = filepath.Join(base, "server.log")
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = ''
max_connections = 100
shared_buffers = 32MB
logging_collector = off
# A throwaway test cluster: durability is traded for speed. A fast
# shutdown still writes everything out, so a restart loses nothing.
fsync = off
synchronous_commit = off
full_page_writes = off
`, s.port)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		t.Fatalf("private postgres: %v", err)
	}
	s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
	// SIGINT is PostgreSQL's fast shutdown: sessions are terminated
	// ("terminating connection due to administrator command"), as in a
	// restart for maintenance.
	s.cmd = func() *exec.Cmd {
		c := exec.Command(filepath.Join(bin, "postgres"), "-D", data)
		asUser(c, cred)
		return c
	}
	s.ready = func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, s.url)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}
	t.Cleanup(func() { s.cleanup() })
	s.Start()
	return s
}

// cleanup stops the server at the end of the test, quickly: its data goes
// with the temporary directory.
func (s *PrivateServer) cleanup() {
	if err := s.shutdown(s.quit, 10*time.Second); err != nil {
		s.t.Errorf("private %s: %v", s.name, err)
	}
}

// postgresBin finds the PostgreSQL server binaries as scripts/services.sh
// does.
func postgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- { // the newest version first
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	t.Skip("the PostgreSQL server binaries are not installed (scripts/services.sh up installs them)")
	return ""
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
