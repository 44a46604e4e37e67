package postgres

import "errors"

var (
	// ErrInvalidView: a view definition New cannot use.
	ErrInvalidView = errors.New("invalid view")
	// ErrNeedsRebuild: the stored table differs from the view definition in a
	// way ALTER TABLE cannot follow (a removed column, a changed type); the
	// view needs a rebuild into a new generation.
	ErrNeedsRebuild = errors.New("needs a rebuild")
	// ErrReadersAhead: the reader view reads a later generation than the
	// one the sink was given (the registry's): see checkReadersBehind.
	ErrReadersAhead = errors.New("readers use a generation the registry does not serve")
	// ErrUnknownView: a doc names a view the sink was not configured with.
	ErrUnknownView = errors.New("unknown view")
	// ErrMissingKey: a doc lacks a value for a primary key column.
	ErrMissingKey = errors.New("missing key value")
	// ErrBadValue: a doc value cannot be encoded as JSON.
	ErrBadValue = errors.New("value cannot be stored")
	// ErrNoGeneration: the physical table of a generation does not exist.
	ErrNoGeneration = errors.New("generation does not exist")
)
