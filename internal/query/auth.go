package query

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
)

// TokensEnv names the environment variable holding the API's bearer
// tokens and the views each may read:
//
//	PROJECTOR_API_TOKENS="s3cr3t-token-for-shop:order_view,user_order_stats; an0ther-long-token:*"
//
// Entries are separated by ";" (or newlines); each is a token, ":", and a
// comma-separated list of view names or "*" for every view. Tokens are at
// least 16 characters and contain no whitespace, ":" or ";". Every
// request then needs "Authorization: Bearer <token>": 401 without a known
// token, 403 for a view the token does not list. Without tokens the API
// is open, and the server refuses to listen on anything but a loopback
// address. Tokens are never logged, nor quoted in errors.
const TokensEnv = "PROJECTOR_API_TOKENS"

// CursorKeyEnv names the environment variable holding the key that signs
// list cursors. Instances behind one load balancer need the same key to
// accept each other's cursors; without it each process draws a random
// key.
const CursorKeyEnv = "PROJECTOR_API_CURSOR_KEY"

const minTokenLen = 16

// grant is what one token may read.
type grant struct {
	all   bool
	views map[string]bool
}

func (g *grant) allows(view string) bool { return g == nil || g.all || g.views[view] }

// tokens maps the SHA-256 of each token to its grant. Looking up a hash
// instead of the token itself keeps the lookup's timing independent of how
// much of a guessed token matches.
type tokens map[[32]byte]*grant

// parseTokens reads a TokensEnv value; views are the declared view names.
// Problems name the entry by its position, never by its token.
func parseTokens(spec string, views map[string]*view) (tokens, error) {
	out := tokens{}
	var errs []error
	entries := strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == '\n' })
	n := 0
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		n++
		tok, list, ok := strings.Cut(e, ":")
		tok = strings.TrimSpace(tok)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s entry %d: want <token>:<views>", TokensEnv, n))
			continue
		case len(tok) < minTokenLen:
			errs = append(errs, fmt.Errorf("%s entry %d: token shorter than %d characters", TokensEnv, n, minTokenLen))
			continue
		case strings.ContainsAny(tok, " \t\r"):
			errs = append(errs, fmt.Errorf("%s entry %d: token contains whitespace", TokensEnv, n))
			continue
		}
		if strings.Contains(list, ":") {
			errs = append(errs, fmt.Errorf("%s entry %d: more than one ':' (a token cannot contain one)", TokensEnv, n))
			continue
		}
		g := &grant{views: map[string]bool{}}
		for i, name := range strings.Split(list, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "*":
				g.all = true
			case name == "":
			case views[name] == nil:
				// Not quoted: an entry written the wrong way round
				// (views:token) would print the token.
				errs = append(errs, fmt.Errorf("%s entry %d: name %d of its list is no view of the configuration (%s)", TokensEnv, n, i+1, viewNames(views)))
			default:
				g.views[name] = true
			}
		}
		if !g.all && len(g.views) == 0 {
			errs = append(errs, fmt.Errorf("%s entry %d: no views (use * for all)", TokensEnv, n))
			continue
		}
		h := sha256.Sum256([]byte(tok))
		if _, dup := out[h]; dup {
			errs = append(errs, fmt.Errorf("%s entry %d: token listed twice", TokensEnv, n))
			continue
		}
		out[h] = g
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return out, nil
}

// authenticate returns the grant of the request's bearer token: nil (all
// views) when the API has no tokens, an *Error (401) without a valid one.
func (t tokens) authenticate(r *http.Request) (*grant, *Error) {
	if len(t) == 0 {
		return nil, nil
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", kind: ErrUnauthorized,
			Message: "this API needs Authorization: Bearer <token>"}
	}
	g := t[sha256.Sum256([]byte(strings.TrimSpace(tok)))]
	if g == nil {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_token", kind: ErrUnauthorized,
			Message: "the bearer token is not valid"}
	}
	return g, nil
}

func forbidden(view string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", kind: ErrForbidden,
		Message: fmt.Sprintf("the token may not read view %q", echo(view))}
}

// CheckListen refuses to serve an open API (no tokens) on an address other
// hosts can reach. An empty host ("" or ":8080") listens on every
// interface; a host name other than localhost may resolve to anything.
func CheckListen(addr string, withTokens bool) error {
	if withTokens {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: listen address %q: %w", ErrConfig, addr, err)
	}
	if loopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%w: without %s the query API is open to anyone who can connect: it listens only on a loopback address (127.0.0.1, ::1), not %q",
		ErrConfig, TokensEnv, addr)
}

// viewNames lists the views a token may be given, sorted.
func viewNames(views map[string]*view) string {
	names := make([]string, 0, len(views))
	for name := range views {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
