package query_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestQueryLimitOutOfRange: `projector query --limit` takes what
// ?limit= takes, 1 to 1000; 0 is refused as the API refuses it, not read
// as "no limit given" (a page of 50).
func TestQueryLimitOutOfRange(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	for _, limit := range []string{"0", "-1", "1001"} {
		code, out, errOut := projectorCLI(t, s, "query", "orders", "--limit", limit)
		if code != 2 || !strings.Contains(errOut, "limit must be a whole number from 1 to 1000") || out != "" {
			t.Errorf("--limit %s: exit %d %q %.80q; want 2 and the range", limit, code, errOut, out)
		}
		status, body := s.get("/v1/views/orders/docs?limit=" + limit)
		if status != http.StatusBadRequest || body["error"] != "limit must be a whole number from 1 to 1000" {
			t.Errorf("?limit=%s: %d %v; want 400 and the range", limit, status, body)
		}
	}
	if code, out, errOut := projectorCLI(t, s, "query", "orders", "--limit", "1"); code != 0 || strings.Count(out, `"status"`) != 1 {
		t.Errorf("--limit 1: exit %d %q\n%s", code, errOut, out)
	}
	code, _, errOut := projectorCLI(t, s, "query", "orders", "1", "--limit", "0")
	if code != 2 || !strings.Contains(errOut, "do not apply") {
		t.Errorf("an ID with --limit 0: exit %d %q; want 2, --limit does not apply", code, errOut)
	}
}

// TestRepeatedNumberParams: limit, offset and facet_size given twice are
// refused for being given twice, in the words q and facets use, not for
// being out of range.
func TestRepeatedNumberParams(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	for _, c := range []struct{ path, param string }{
		{"/v1/views/orders/docs?limit=1&limit=2", "limit"},
		{"/v1/views/orders/search?limit=1&limit=2", "limit"},
		{"/v1/views/orders/search?offset=0&offset=1", "offset"},
		{"/v1/views/orders/search?facets=status&facet_size=1&facet_size=2", "facet_size"},
		{"/v1/views/orders/search?q=gift&q=wrap", "q"},
	} {
		status, body := s.get(c.path)
		want := c.param + " is given 2 times: give it once"
		if status != http.StatusBadRequest || body["param"] != c.param || !strings.HasPrefix(body["error"].(string), want) {
			t.Errorf("%s: %d %v; want 400 %q", c.path, status, body, want)
		}
	}
}

// TestMinPositionUnknownSource: a position naming a source the view does
// not read lists those it reads, in the same words whether the source is
// declared or not (a token that may read orders only learns nothing of
// the others), from the API and from `projector query`.
func TestMinPositionUnknownSource(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	const unknown = `min_position "nosrc:0/1": view orders does not read source "nosrc" (it reads orders, users)`
	const notRead = `min_position "lines:0/1": view orders does not read source "lines" (it reads orders, users)`
	const noSource = `min_position "0": want SOURCE:POSITION, with SOURCE one of the sources view orders reads (orders, users)`
	for _, c := range []struct{ position, want string }{
		{"nosrc:0/1", unknown},
		{"lines:0/1", notRead},
		{"0", noSource},
	} {
		status, body := s.get("/v1/views/orders/docs?wait=0s&min_position=" + c.position)
		if status != http.StatusBadRequest || body["code"] != "bad_position" || body["error"] != c.want {
			t.Errorf("?min_position=%s: %d %v; want 400 %q", c.position, status, body, c.want)
		}
		code, _, errOut := projectorCLI(t, s, "query", "orders", "1", "--wait", "0s", "--min-position", c.position)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("--min-position %s: exit %d %q; want 2 and %q", c.position, code, errOut, c.want)
		}
	}
}

// TestQueryMinPositionWithoutKafka: a read whose wait is met by the
// positions alone succeeds without an error in the log when Kafka cannot be
// reached (Kafka only lets a wait end early). A wait that runs out warns
// why Kafka could not be asked, and logs no error either.
func TestQueryMinPositionWithoutKafka(t *testing.T) {
	s := newShop(t, shopOptions{})
	fill(s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	s.yaml = strings.Replace(s.yaml, strings.Join(s.cfg.Kafka.Brokers, ","), dead, 1)

	code, out, errOut := projectorCLI(t, s, "query", "orders", "1", "--min-position", "orders:0/1")
	if code != 0 || !strings.Contains(out, `"status": "paid"`) {
		t.Fatalf("a position every partition passed: exit %d %q\n%s", code, errOut, out)
	}
	if strings.Contains(errOut, "level=ERROR") || strings.Contains(errOut, "level=WARN") {
		t.Errorf("a successful query logged:\n%s", errOut)
	}

	code, _, errOut = projectorCLI(t, s, "query", "orders", "1", "--wait", "0s", "--min-position", "orders:FF/0")
	if code != 1 || !strings.Contains(errOut, "did not reach the requested position") {
		t.Fatalf("a position not reached: exit %d %q", code, errOut)
	}
	if strings.Contains(errOut, "level=ERROR") || !strings.Contains(errOut, `level=WARN msg="read-your-writes: kafka could not be asked`) ||
		!strings.Contains(errOut, "connection refused") {
		t.Errorf("a wait that ran out without Kafka logged:\n%s\nwant one warning with the cause, no error", errOut)
	}
}

// TestSearchWithElasticsearchDisabled: a view that declares an
// Elasticsearch sink, whose store has no URL (the daemon then runs without
// that sink), cannot be searched, and says why; a view that declares none
// says that.
func TestSearchWithElasticsearchDisabled(t *testing.T) {
	s := newShop(t, shopOptions{})
	s.yaml = strings.Replace(s.yaml, `elasticsearch: { url: "`+s.es.URL()+`" }`, `elasticsearch: { url: "" }`, 1)
	code, _, errOut := projectorCLI(t, s, "query", "orders", "--search", "hammer")
	want := "view orders's Elasticsearch sink is disabled: no Elasticsearch URL is configured (stores.elasticsearch.url is empty)"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("search with Elasticsearch disabled: exit %d %q; want 1 and %q", code, errOut, want)
	}
	code, _, errOut = projectorCLI(t, s, "query", "lines", "--search", "hammer")
	if want := "view lines has no Elasticsearch sink"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("search of a view without an Elasticsearch sink: exit %d %q; want 1 and %q", code, errOut, want)
	}
}
