package projector

import (
	"encoding/base64"
	"strings"
)

const (
	stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// byteaText is text a bytea field takes: bytes in base64, which a document
// carries them as and the PostgreSQL sink decodes with decode(…,
// 'base64'). It is read as that reads it (pgBase64) and written back in
// standard base64, padded and with no white space, which every store takes
// alike (Elasticsearch's binary reads standard base64 only, and no space).
// Text in the URL-safe alphabet ('-' and '_' for '+' and '/', as Debezium's
// binary.handling.mode=base64-url-safe writes bytes) is read in it: the
// two differ in those symbols only, so text with '-' or '_' and neither
// '+' nor '/' means one thing ("-_8=" is "+/8="). False for text that is
// no base64 ("hello!"), which PostgreSQL would refuse with the document.
func byteaText(s string) (string, bool) {
	alphabet := stdAlphabet
	if strings.ContainsAny(s, "-_") && !strings.ContainsAny(s, "+/") {
		alphabet = urlAlphabet
	}
	b, ok := pgBase64(s, alphabet)
	if !ok {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// pgBase64 is s decoded as PostgreSQL's decode(s, 'base64') decodes it
// (pg_base64_decode), in the given alphabet: spaces, tabs and line breaks
// skipped anywhere, padding required (a group of four symbols at the end),
// '=' only as a group's third or fourth symbol, unused low bits ignored
// ("aGl=" is "hi"), and groups after a padded one decoded to as many bytes
// as it (PostgreSQL's "aGk=aGk=" is "hihi"). False where PostgreSQL raises
// an error.
func pgBase64(s, alphabet string) ([]byte, bool) {
	out := make([]byte, 0, len(s)/4*3)
	var buf uint32
	pos, end := 0, 0 // end: the bytes a padded group lacks, once one was
	for i := 0; i < len(s); i++ {
		c := s[i]
		var b int
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '=':
			if end == 0 {
				switch pos {
				case 2:
					end = 1
				case 3:
					end = 2
				default:
					return nil, false // unexpected "="
				}
			}
		default:
			if b = strings.IndexByte(alphabet, c); b < 0 {
				return nil, false // invalid symbol
			}
		}
		buf = buf<<6 | uint32(b)
		if pos++; pos < 4 {
			continue
		}
		out = append(out, byte(buf>>16))
		if end == 0 || end > 1 {
			out = append(out, byte(buf>>8))
		}
		if end == 0 || end > 2 {
			out = append(out, byte(buf))
		}
		buf, pos = 0, 0
	}
	return out, pos == 0 // else: invalid base64 end sequence
}
