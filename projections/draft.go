package projections

import (
	"errors"

	"github.com/projectorhq/projector/config"
)

// CompileDraft compiles a configuration that config.LoadDraft returned,
// with the problems it found (nil when none), so that one run reports the
// problems of the views' meaning together with those of the file's
// structure, all sorted by position. A problem the compiler finds at a
// place the configuration already has one is left out: it is the same
// mistake seen from the other side (an unknown source, say). The plan is
// returned only when there is no problem at all.
func CompileDraft(cfg *config.Config, problems error) (*Plan, error) {
	if problems == nil {
		return Compile(cfg)
	}
	var found config.Errors
	if !errors.As(problems, &found) || cfg == nil {
		return nil, problems
	}
	merged := append(config.Errors(nil), found...)
	for _, e := range compileDraft(cfg) {
		if !found.At(e.Pos) {
			merged = append(merged, e)
		}
	}
	return nil, merged.Err()
}

// compileDraft returns the compiler's problems with a configuration that
// breaks some rule config.Load guarantees. The compiler was written for
// valid configurations: should it fail on this one, its problems are
// dropped and the configuration's own stand alone.
func compileDraft(cfg *config.Config) (errs config.Errors) {
	defer func() {
		if recover() != nil {
			errs = nil
		}
	}()
	_, err := Compile(cfg)
	errors.As(err, &errs)
	return errs
}
