package stack

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/sinks/elasticsearch"
)

// servedIndices points each view at the generation the registry serves in
// Elasticsearch, under the index the registry recorded for it: a rebuild
// with a file that renamed the view's index created that generation under
// the new name (its alias's), and a daemon still on the file before the
// rename must write there, where readers search, rather than create an
// index of its own name that no alias points to and no registry row drops.
func servedIndices(views []elasticsearch.View, served registry.Snapshot, log *slog.Logger) {
	for i := range views {
		v := &views[i]
		v.Generation = served.Serving(v.Name, registry.StoreElasticsearch)
		g, ok := served.Get(v.Name, v.Generation)
		if !ok {
			continue
		}
		index := g.Targets[registry.StoreElasticsearch]
		alias, ok := strings.CutSuffix(index, "-g"+strconv.Itoa(v.Generation))
		own := v.Alias
		if own == "" {
			own = v.Name
		}
		if !ok || alias == "" || alias == own {
			continue
		}
		log.Warn("the served generation's Elasticsearch index was named by a rebuild's file, not this one: writing there; deploy that file",
			"view", v.Name, "index", index, "this_file_names", own+"-g"+strconv.Itoa(v.Generation))
		v.Alias = alias
	}
}
