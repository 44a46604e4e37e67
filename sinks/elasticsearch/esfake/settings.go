package esfake

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The index settings API: GET /{target}/_settings, and PUT, which changes
// the dynamic settings of existing indices (index.mapping.total_fields.limit,
// refresh_interval, number_of_replicas, …). A static setting cannot change
// on an open index, and one Elasticsearch manages cannot change at all;
// nothing is applied when any is refused.

// staticSettings are settings fixed at index creation (the fake's
// indices are always open). A name ending in "." stands for its group.
var staticSettings = []string{"index.number_of_shards", "index.codec", "index.routing_partition_size", "index.sort.",
	"index.mapping.source.mode", "index.mode"}

// privateSettings are managed by Elasticsearch.
var privateSettings = map[string]bool{"index.uuid": true, "index.creation_date": true, "index.provided_name": true,
	"index.version.created": true}

// intSettings must be whole numbers of at least 0.
var intSettings = map[string]bool{"index.mapping.total_fields.limit": true, "index.number_of_replicas": true,
	"index.max_result_window": true}

func (s *Server) handlePutSettings(w http.ResponseWriter, target string, body []byte) {
	m, err := decodeObject(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, parseError(err))
		return
	}
	if inner, ok := m["settings"].(map[string]any); ok && len(m) == 1 {
		m = inner // RestUpdateSettingsAction takes {"settings": {…}} too
	}
	update := map[string]string{}
	flattenSettings("", m, update)
	reset := nullSettings("", m)
	if e := checkSettingsUpdate(update, reset); e != nil {
		writeError(w, http.StatusBadRequest, *e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	var static []string
	for k := range update {
		if isStatic(k) {
			static = append(static, k)
		}
	}
	if len(static) > 0 {
		sort.Strings(static)
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = t.ix.name + "/" + t.ix.uuid
		}
		writeError(w, http.StatusBadRequest, esError{Type: "illegal_argument_exception",
			Reason: "Can't update non dynamic settings [[" + strings.Join(static, ", ") + "]] for open indices [[" + strings.Join(names, ", ") + "]]"})
		return
	}
	for _, t := range targets {
		for k, v := range update {
			if reset[k] {
				delete(t.ix.settings, k)
				continue
			}
			t.ix.settings[k] = v
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// nullSettings are the settings set to null, which resets them to their
// defaults.
func nullSettings(prefix string, in map[string]any) map[string]bool {
	out := map[string]bool{}
	for k, v := range in {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			for n := range nullSettings(key, sub) {
				out[n] = true
			}
			continue
		}
		if v == nil {
			if !strings.HasPrefix(key, "index.") {
				key = "index." + key
			}
			out[key] = true
		}
	}
	return out
}

// checkSettingsUpdate refuses a setting Elasticsearch manages and a value
// a setting does not parse.
func checkSettingsUpdate(update map[string]string, reset map[string]bool) *esError {
	keys := make([]string, 0, len(update))
	for k := range update {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if privateSettings[k] {
			return &esError{Type: "illegal_argument_exception",
				Reason: "can not update private setting [" + k + "]; this setting is managed by Elasticsearch"}
		}
		if !intSettings[k] || reset[k] {
			continue
		}
		if n, err := strconv.Atoi(update[k]); err != nil || n < 0 {
			return &esError{Type: "illegal_argument_exception",
				Reason: "Failed to parse value [" + update[k] + "] for setting [" + k + "]"}
		}
	}
	return nil
}

func isStatic(key string) bool {
	for _, s := range staticSettings {
		if key == s || strings.HasSuffix(s, ".") && strings.HasPrefix(key, s) {
			return true
		}
	}
	return false
}

func (s *Server) handleGetSettings(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	out := map[string]any{}
	for _, t := range targets {
		out[t.ix.name] = map[string]any{"settings": nestSettings(t.ix.settings)}
	}
	writeJSON(w, http.StatusOK, out)
}
