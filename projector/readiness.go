package projector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// PublicCause is what readiness, which anyone reaching the admin port
// reads, says of a failure (err's text up to its first ": ", then the
// kind of failure): a connection failure by its kind alone, since its text names the store's role, database, host and port
// (the log line has them all); anything else, projector's own findings and
// a store's refusals, as it is.
func PublicCause(err error) error {
	var connect *pgconn.ConnectError
	var op *net.OpError
	var dns *net.DNSError
	var pgErr *pgconn.PgError
	var kind string
	switch {
	case err == nil:
		return nil
	case errors.As(err, &dns):
		kind = "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		kind = "timed out"
	case errors.As(err, &connect) && errors.As(err, &pgErr):
		kind = "refused, SQLSTATE " + pgErr.Code
	case errors.As(err, &connect) || errors.As(err, &op):
		kind = "cannot connect"
	default:
		return err
	}
	label, _, _ := strings.Cut(err.Error(), ": ") // "does not answer", "… at start"
	return fmt.Errorf("%s: %s (the log says more)", label, kind)
}
