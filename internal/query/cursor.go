package query

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A cursor is opaque to clients: base64url(JSON payload) "." base64url(MAC),
// the MAC an HMAC-SHA256 of the payload under the server's cursor key,
// truncated to 128 bits. A cursor that was not issued by a server with the
// same key, or was changed in any byte, is refused (400 bad_cursor) before
// anything in it is used. Without a configured key (CursorKeyEnv) each
// process draws its own, so cursors then do not survive a restart or move
// between instances.

// maxCursorBytes bounds a cursor before it is decoded; the server issues
// none longer. Only id values of kilobytes come near it: the engine
// refuses key values over 2,048 bytes each, which the cursor carries in
// base64, compressed when need be (see checked), beside the sort key or
// a reference to it (see next).
const maxCursorBytes = 24576

// maxKeyedCursor bounds a cursor that carries its sort key: with a longer
// key (a text field can hold megabytes) the cursor refers to the last
// doc's sort key instead (cursor.Ref), so a URL with a cursor stays within
// the 8 KB request line common proxies allow.
const maxKeyedCursor = 4096

const macBytes = 16

// errCursorTooLong: a cursor, even compressed, is longer than
// maxCursorBytes.
var errCursorTooLong = fmt.Errorf("cursor exceeds %d bytes: the key values are too long", maxCursorBytes)

// cursor is what a page's last document leaves for the next page.
type cursor struct {
	View string `json:"v"`
	// Query identifies the sort and filters the cursor was issued for: a
	// cursor continues only the query it came from.
	Query string `json:"q"`
	// Keys are the sort key values of the last document, as PostgreSQL
	// prints them (::text), nil for SQL NULL: the sort field, then the id
	// fields.
	Keys []*string `json:"k"`
	// Ref, when set, stands for a sort key too long to carry: the hex
	// SHA-256 of the key's text. Keys[0] is then nil and the key is read
	// back from the doc with the id values Keys[1:] (see refKey).
	Ref string `json:"r,omitempty"`
}

type cursorCodec struct {
	key []byte
}

func (c cursorCodec) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write(payload)
	return h.Sum(nil)[:macBytes]
}

// next is the cursor continuing after a doc with those key values. It
// carries them when that is short (maxKeyedCursor). When the sort key is
// what makes it long (keys that start with one that is not an id field),
// it refers to that key instead (Ref), which a deleted or re-sorted doc
// makes stale. When the id values make it long, a reference would not
// bring it under maxKeyedCursor and only make it fragile: it carries the
// key within the ids' allowance (checked), and refers to it only when the
// key is too long for even that. The server never issues a cursor it would
// refuse.
func (c cursorCodec) next(cur cursor, bySortField bool) (string, error) {
	keyed, err := c.sign(cur)
	if err != nil {
		return "", err
	}
	if len(keyed) <= maxKeyedCursor || !bySortField || cur.Keys[0] == nil {
		return c.checked(cur, keyed)
	}
	ref := refCursor(cur)
	short, err := c.sign(ref)
	if err != nil {
		return "", err
	}
	if len(short) <= maxKeyedCursor {
		return short, nil
	}
	if s, err := c.checked(cur, keyed); !errors.Is(err, errCursorTooLong) {
		return s, err
	}
	return c.checked(ref, short)
}

// refCursor is cur with its sort key replaced by a reference to it.
func refCursor(cur cursor) cursor {
	sum := sha256.Sum256([]byte(*cur.Keys[0]))
	cur.Ref = hex.EncodeToString(sum[:])
	cur.Keys = append([]*string{nil}, cur.Keys[1:]...)
	return cur
}

// encode signs a cursor and checks that decode will accept it.
func (c cursorCodec) encode(cur cursor) (string, error) {
	s, err := c.sign(cur)
	if err != nil {
		return "", err
	}
	return c.checked(cur, s)
}

// checked returns cur signed as s, or compressed when s is longer than
// decode accepts, else an error.
func (c cursorCodec) checked(cur cursor, s string) (string, error) {
	if len(s) <= maxCursorBytes {
		return s, nil
	}
	if len(s) > maxInflated {
		// Its payload (shorter than s, its base64) may be longer than
		// decode inflates, however well it compresses.
		return "", errCursorTooLong
	}
	// Only id values of kilobytes get here (see next): JSON writes a
	// control character as six bytes (\u0001), and a composite id has
	// several values of up to 2 KB. Compressed, a cursor of ids alone
	// stays within the bound.
	z, err := c.signCompressed(cur, true)
	if err != nil {
		return "", err
	}
	if len(z) > maxCursorBytes {
		return "", fmt.Errorf("cursor of %d bytes: %w", len(z), errCursorTooLong)
	}
	return z, nil
}

func (c cursorCodec) sign(cur cursor) (string, error) { return c.signCompressed(cur, false) }

func (c cursorCodec) signCompressed(cur cursor, compress bool) (string, error) {
	// Without HTML escaping (marshal): json.Marshal writes each <, > and
	// & as six bytes, which an id of URLs multiplies.
	payload, err := marshal(cur)
	if err != nil {
		return "", err
	}
	if compress {
		var buf bytes.Buffer
		buf.WriteByte(compressedMark)
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(payload)
		w.Close()
		if buf.Len() < len(payload) {
			payload = buf.Bytes()
		}
	}
	b64 := base64.RawURLEncoding
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(c.mac(payload)), nil
}

// refKey reads back the sort key a Ref cursor stands for, from the doc
// with the cursor's id values. The doc may have been deleted or re-sorted
// since: the walk then cannot continue where it was, and the client
// starts again.
func (s *Server) refKey(ctx context.Context, v *view, k keyset, cur cursor) (*string, error) {
	b := &sqlBuilder{}
	conds := make([]string, 0, len(k.fields)-1)
	for i, f := range k.fields[1:] {
		conds = append(conds, "r."+ident(f.Name)+" = "+b.bind(*cur.Keys[i+1])+"::text::"+castTypes[f.Type.Name])
	}
	sql := "SELECT r." + ident(k.fields[0].Name) + "::text FROM " + v.PG.Reader.Sanitize() + " r WHERE " + strings.Join(conds, " AND ")
	var key *string
	err := s.pool.QueryRow(ctx, sql, b.args...).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (key == nil || !refMatches(*key, cur.Ref)) {
		return nil, badRequest("stale_cursor", "cursor", "the document this cursor continues after was changed or deleted since; start again without the cursor")
	}
	if err != nil {
		return nil, listError(v, err)
	}
	return key, nil
}

func refMatches(key, ref string) bool {
	sum := sha256.Sum256([]byte(key))
	return hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(ref))
}

// decode verifies and opens a cursor. Every failure is the same 400: a
// client learns nothing about which part was wrong.
func (c cursorCodec) decode(s string) (cursor, error) {
	bad := badRequest("bad_cursor", "cursor", "cursor is invalid, tampered with, or from another server; start again without it")
	if len(s) > maxCursorBytes {
		return cursor{}, bad
	}
	p, m, ok := bytes.Cut([]byte(s), []byte("."))
	if !ok {
		return cursor{}, bad
	}
	enc := base64.RawURLEncoding.Strict() // one spelling per cursor
	payload := make([]byte, enc.DecodedLen(len(p)))
	n, err := enc.Decode(payload, p)
	if err != nil {
		return cursor{}, bad
	}
	payload = payload[:n]
	mac := make([]byte, enc.DecodedLen(len(m)))
	n, err = enc.Decode(mac, m)
	if err != nil || !hmac.Equal(mac[:n], c.mac(payload)) {
		return cursor{}, bad
	}
	if len(payload) > 0 && payload[0] == compressedMark {
		// Signed by this server, so compressed by it: still bounded.
		inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(payload[1:])), maxInflated+1))
		if err != nil || len(inflated) > maxInflated {
			return cursor{}, bad
		}
		payload = inflated
	}
	var cur cursor
	if err := json.Unmarshal(payload, &cur); err != nil {
		return cursor{}, bad
	}
	return cur, nil
}

// A cursor's payload too long as it is is compressed (DEFLATE), marked by
// a first byte JSON never starts with; maxInflated bounds what one
// inflates to.
const (
	compressedMark = 'z'
	maxInflated    = 1 << 20
)
