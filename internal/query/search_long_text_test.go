package query

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The generated mapping indexes text's keyword sub-field with ignore_above
// 256 (characters as Java counts them): a longer value is not in the
// keyword, so equality on it could never match in Elasticsearch, while a
// list finds the doc. Such a filter is a 400 saying so, never a silent
// empty result; ranges still apply.
func TestSearchLongTextEquality(t *testing.T) {
	long := strings.Repeat("x", 300)
	atLimit := strings.Repeat("y", 256)
	emoji := strings.Repeat("😀", 129) // 129 runes, 258 UTF-16 code units
	tk := newTickets(t,
		`{"id":1,"status":"open","note":"`+long+`","score":1}`,
		`{"id":2,"status":"open","note":"short","score":1}`,
		`{"id":3,"status":"open","note":"`+atLimit+`","score":1}`)
	if got := tk.list("note=" + long); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("list note=<300 x>: %v, want [1]", got)
	}
	for _, tc := range []struct {
		name, query string
		want        []string // nil: a 400 bad_value on param note
	}{
		{"eq over ignore_above", "note=" + long, nil},
		{"eq over ignore_above in UTF-16", "note=" + emoji, nil},
		{"in with one value over ignore_above", "note[in]=short," + long, nil},
		{"eq at ignore_above", "note=" + atLimit, []string{"3"}},
		{"in within ignore_above", "note[in]=short," + atLimit + "&sort=id", []string{"2", "3"}},
		{"range with a long bound", "note[gt]=" + long + "&sort=id", []string{"3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := url.ParseQuery(tc.query)
			res, err := tk.s.Search(tk.ctx, "tickets", p)
			if tc.want != nil {
				if err != nil {
					t.Fatalf("search: %v", err)
				}
				if got := tk.ids(res.Docs); !slices.Equal(got, tc.want) {
					t.Errorf("search: ids %v, want %v", got, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "bad_value" || !strings.HasPrefix(e.Param, "note") {
				var ids []string
				if res != nil {
					ids = tk.ids(res.Docs)
				}
				t.Fatalf("search: ids %v, err %v, want a 400 bad_value: the keyword's ignore_above 256 drops the value", ids, err)
			}
			if !strings.Contains(e.Message, "256") {
				t.Errorf("message %q does not name the limit", e.Message)
			}
		})
	}
}
