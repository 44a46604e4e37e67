package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/projectorhq/projector/sinks/sinktest"
)

// TestElasticsearchSuite runs the store-agnostic behaviour suite.
func TestElasticsearchSuite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		sinktest.Run(t, sinktest.Setup{New: func(t *testing.T, v sinktest.View) (sinktest.Sink, sinktest.Reader) {
			view := View{Name: v.Name}
			for _, f := range v.Fields {
				view.Fields = append(view.Fields, Field{Name: f.Name, Type: f.Type})
			}
			s := b.newSink(t, nil, view)
			return s, &suiteReader{b: b, alias: b.prefix + v.Name}
		}})
	})
}

// suiteReader reads a doc as a reader of the alias does: a tombstone is no
// doc.
type suiteReader struct {
	b     *backend
	alias string
}

func (r *suiteReader) Get(ctx context.Context, _, id string, _ map[string]any) (map[string]any, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/"+r.alias+"/_doc/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, false, err
	}
	res, err := r.b.client.Perform(req)
	if err != nil {
		return nil, false, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, false, err
	}
	if res.StatusCode == http.StatusNotFound {
		return nil, false, nil
	}
	if res.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("get %s: %d %s", id, res.StatusCode, data)
	}
	var body struct {
		Found  bool           `json:"found"`
		Source map[string]any `json:"_source"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, false, err
	}
	if !body.Found || body.Source[DeletedField] == true {
		return nil, false, nil
	}
	return body.Source, true, nil
}
