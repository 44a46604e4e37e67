package query

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// A cursor is opaque to clients: base64url(JSON payload) "." base64url(MAC),
// the MAC an HMAC-SHA256 of the payload under the server's cursor key,
// truncated to 128 bits. A cursor that was not issued by a server with the
// same key, or was changed in any byte, is refused (400 bad_cursor) before
// anything in it is used. Without a configured key (CursorKeyEnv) each
// process draws its own, so cursors then do not survive a restart or move
// between instances.

// maxCursorBytes bounds a cursor before it is decoded.
const maxCursorBytes = 8192

const macBytes = 16

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
}

type cursorCodec struct {
	key []byte
}

func (c cursorCodec) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write(payload)
	return h.Sum(nil)[:macBytes]
}

func (c cursorCodec) encode(cur cursor) (string, error) {
	payload, err := json.Marshal(cur)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.mac(payload)), nil
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
	var cur cursor
	if err := json.Unmarshal(payload, &cur); err != nil {
		return cursor{}, bad
	}
	return cur, nil
}
