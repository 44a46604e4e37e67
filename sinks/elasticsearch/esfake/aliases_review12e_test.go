package esfake

import (
	"net/http"
	"testing"
)

// TestR12eRemoveMustExistIsResourceNotFound: an _aliases "remove" with
// "must_exist": true of an alias the index does not carry fails the whole
// request, as the fake does, but with the error Elasticsearch 8 raises for
// it: TransportIndicesAliasesAction.concreteAliases returns the requested
// alias unexpanded when nothing matched and must_exist is set, and
// AliasAction.Remove.apply then throws
// ResourceNotFoundException("required alias [a] does not exist"), which the
// REST layer answers 404 resource_not_found_exception. The fake answers
// aliases_not_found_exception ("aliases [a] missing"), the error of a
// request none of whose actions resolved to anything. The sink's SwapAlias
// keys ErrAliasMismatch on the fake's type, so on a real cluster a swap
// from the wrong generation is not reported as a mismatch.
func TestR12eRemoveMustExistIsResourceNotFound(t *testing.T) {
	f := start(t)
	f.must(t, http.MethodPut, "/g1", "")
	f.must(t, http.MethodPut, "/g2", "")
	f.must(t, http.MethodPost, "/_aliases", `{"actions":[{"add":{"index":"g2","alias":"a"}}]}`)

	status, out := f.do(t, http.MethodPost, "/_aliases",
		`{"actions":[{"remove":{"index":"g1","alias":"a","must_exist":true}},{"add":{"index":"g2","alias":"a"}}]}`)
	e, _ := out["error"].(map[string]any)
	if status != http.StatusNotFound || e["type"] != "resource_not_found_exception" ||
		e["reason"] != "required alias [a] does not exist" {
		t.Fatalf("remove of a missing alias with must_exist = %d %v,\nwant 404 resource_not_found_exception \"required alias [a] does not exist\"", status, out)
	}
	if got := aliasTargets(t, f, "a"); len(got) != 1 || got[0] != "g2" {
		t.Fatalf("alias a -> %v, want [g2]: the failed request changed nothing", got)
	}
}
