package rebuild

import (
	"errors"
	"fmt"
	"slices"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// PickStoresOf is PickStores from the configuration alone (StoresOf): it
// connects to nothing, so that a rebuild can refuse the stores it is asked
// for, or ask which it rebuilds, before Open brings the query database's
// schema up to date.
func PickStoresOf(cfg *config.Config, plan *projections.Plan, view string, want []string) ([]string, error) {
	return pickStores(plan, view, StoresOf(cfg, plan, view), want)
}

// pickStores checks want against have, the stores the view is written to,
// as PickStores says.
func pickStores(plan *projections.Plan, view string, have, want []string) ([]string, error) {
	v, err := (&Env{Plan: plan}).View(view)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, s := range want {
		switch {
		case slices.Contains(have, s):
		case !slices.Contains(storeNames, s):
			errs = append(errs, fmt.Errorf("%w %q: use postgres (pg), redis or elasticsearch (es)", ErrUnknownStore, s))
		case !declares(v, s):
			errs = append(errs, fmt.Errorf("%w %q for view %s: it has no %s sink (its sinks: %s)", ErrUnknownStore, s, view, s, orNone(declared(v))))
		default:
			errs = append(errs, fmt.Errorf("%w: %s, for view %s: stores.%s.url is empty (%s in the example configuration), so nothing writes the view there",
				ErrStoreNotConfigured, s, view, s, storeURLVar(s)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: view %s is written to no configured store (its sinks: %s)", ErrStoreNotConfigured, view, orNone(declared(v)))
	}
	if len(want) == 0 {
		return have, nil
	}
	var out []string
	for _, s := range have {
		if slices.Contains(want, s) {
			out = append(out, s)
		}
	}
	return out, nil
}
