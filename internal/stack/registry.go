package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projector"
)

// schemaRegistry adapts franz-go's schema registry client to the engine:
// an id the registry does not have is a bad record (ErrSchemaNotFound);
// anything else is an outage the engine retries.
type schemaRegistry struct{ cl *sr.Client }

// NewSchemaRegistry connects to a Confluent-compatible registry; nil when
// the configuration names none.
func NewSchemaRegistry(c config.SchemaRegistry) (projector.SchemaRegistry, error) {
	if c.URL == "" {
		return nil, nil
	}
	opts := []sr.ClientOpt{sr.URLs(c.URL)}
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	return &schemaRegistry{cl: cl}, nil
}

func (r *schemaRegistry) SchemaByID(ctx context.Context, id int) (string, error) {
	s, err := r.cl.SchemaByID(ctx, id)
	var re *sr.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("schema id %d: %w", id, projector.ErrSchemaNotFound)
	}
	if err != nil {
		return "", err
	}
	return s.Schema, nil
}
