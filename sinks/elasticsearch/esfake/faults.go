package esfake

import "fmt"

// faults are failures injected into bulk, delete by query and search
// requests.
type faults struct {
	requests []fault          // consumed one per bulk request, in order
	byQuery  []fault          // consumed one per delete by query request, in order
	search   []fault          // consumed one per search request, in order
	docs     map[string]fault // by document _id; n counts the items still to fail
}

type fault struct {
	n      int
	status int
	typ    string
}

// FailNext makes the next n bulk requests fail as a whole with that HTTP
// status and error type (for example 429 "es_rejected_execution_exception"
// or 503 "unavailable_shards_exception"); nothing in them is applied.
func (s *Server) FailNext(n, status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.requests = append(s.faults.requests, fault{n: n, status: status, typ: errType})
}

// FailNextDeleteByQuery makes the next n delete by query requests fail as a
// whole with that HTTP status and error type, before they delete anything.
func (s *Server) FailNextDeleteByQuery(n, status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.byQuery = append(s.faults.byQuery, fault{n: n, status: status, typ: errType})
}

// FailNextSearch makes the next n search requests fail as a whole with that
// HTTP status and error type.
func (s *Server) FailNextSearch(n, status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.search = append(s.faults.search, fault{n: n, status: status, typ: errType})
}

// FailDocs makes the next n bulk items for each of these document ids fail
// with that status and error type inside an otherwise successful bulk
// response, as Elasticsearch reports a rejection on one shard; those items
// are not applied. The deletes a delete by query issues are bulk items too:
// a failed one is listed in the response's "failures".
func (s *Server) FailDocs(n, status int, errType string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.docs == nil {
		s.faults.docs = map[string]fault{}
	}
	for _, id := range ids {
		s.faults.docs[id] = fault{n: n, status: status, typ: errType}
	}
}

// takeRequestFault consumes one injected request failure from list (a
// field of s.faults). Callers hold s.mu.
func takeRequestFault(list *[]fault) (fault, bool) {
	for len(*list) > 0 {
		f := &(*list)[0]
		if f.n <= 0 {
			*list = (*list)[1:]
			continue
		}
		f.n--
		return *f, true
	}
	return fault{}, false
}

// takeDocFault consumes one injected item failure for id. Callers hold s.mu.
func (s *Server) takeDocFault(id string) (fault, bool) {
	f, ok := s.faults.docs[id]
	if !ok || f.n <= 0 {
		return fault{}, false
	}
	f.n--
	if f.n == 0 {
		delete(s.faults.docs, id)
	} else {
		s.faults.docs[id] = f
	}
	return f, true
}

// faultReason is a reason text in the style Elasticsearch uses for that type.
func faultReason(typ string, item bool) string {
	switch typ {
	case "es_rejected_execution_exception", "rejected_execution_exception":
		if item {
			return "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]"
		}
		return "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]"
	case "unavailable_shards_exception":
		return "[index][0] primary shard is not active Timeout: [1m]"
	case "cluster_block_exception":
		return "blocked by: [SERVICE_UNAVAILABLE/2/no master];"
	default:
		return fmt.Sprintf("injected %s", typ)
	}
}

// BulkRequests is how many bulk requests the server received, failed ones
// included, so tests can count a client's attempts.
func (s *Server) BulkRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bulkRequests
}

// DeleteByQueryRequests is how many delete by query requests the server
// received, failed ones included.
func (s *Server) DeleteByQueryRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byQueryRequests
}

// SearchRequests is how many search requests the server received, failed
// ones included.
func (s *Server) SearchRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searchRequests
}
