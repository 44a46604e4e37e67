package query

import "net/url"

// CheckGet, CheckList and CheckSearch check a request against its view
// without reading any store: what the request says is wrong is found
// before a read-your-writes wait (projector query --min-position, as the
// API's ?min_position=), not after it as a position not reached.
func (s *Server) CheckGet(viewName, id string) error {
	_, err := s.prepareGet(viewName, id)
	return err
}

// CheckList: see CheckGet.
func (s *Server) CheckList(viewName string, params url.Values) error {
	_, err := s.prepareList(viewName, params)
	return err
}

// CheckSearch: see CheckGet.
func (s *Server) CheckSearch(viewName string, params url.Values) error {
	_, err := s.prepareSearch(viewName, params)
	return err
}
