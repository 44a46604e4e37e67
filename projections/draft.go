package projections

import (
	"errors"
	"regexp"

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
		if !sameProblem(found, e) {
			merged = append(merged, e)
		}
	}
	return nil, merged.Err()
}

// sameProblem reports whether the configuration already has the
// compiler's problem e: one at its place naming what e names (a "name" or
// {placeholder} in both), or one at its place naming nothing. Several
// problems share a place when one string lists several names ("a, b")
// or a key template has several placeholders: the compiler's problem of
// another name there is another problem.
func sameProblem(found config.Errors, e config.Error) bool {
	named := quotedNames(e.Msg)
	for _, f := range found {
		if f.Pos != e.Pos {
			continue
		}
		theirs := quotedNames(f.Msg)
		if len(theirs) == 0 || len(named) == 0 {
			return true
		}
		for n := range theirs {
			if named[n] {
				return true
			}
		}
	}
	return false
}

var quotedName = regexp.MustCompile(`"([^"]+)"|\{([^{}]+)\}`)

var viewName = regexp.MustCompile(`view "[^"]*"`)

// quotedNames are the names a problem quotes: "name" and {placeholder},
// but for the view's name, which every problem of a view quotes.
func quotedNames(msg string) map[string]bool {
	names := map[string]bool{}
	msg = viewName.ReplaceAllString(msg, "")
	for _, m := range quotedName.FindAllStringSubmatch(msg, -1) {
		names[m[1]+m[2]] = true
	}
	return names
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
