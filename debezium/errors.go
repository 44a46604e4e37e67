package debezium

import (
	"errors"
	"strconv"
)

// ErrMalformed is wrapped by every error about input that is not a valid
// Debezium record. Its message names the field path at fault.
var ErrMalformed = errors.New("malformed debezium record")

// MalformedError is the concrete error behind ErrMalformed: Path names the
// field at fault ("payload.after.price", "key", "value"), Reason says what is
// wrong with it. errors.Is(err, ErrMalformed) holds for every *MalformedError.
type MalformedError struct {
	Path   string
	Reason string
}

func (e *MalformedError) Error() string {
	if e.Path == "" {
		return ErrMalformed.Error() + ": " + e.Reason
	}
	return ErrMalformed.Error() + ": " + e.Path + ": " + e.Reason
}

// Unwrap lets errors.Is(err, ErrMalformed) match.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

// UnknownSchemaError reports an Avro record whose Confluent schema id has not
// been given to AddAvroSchema. It is not malformed input: the caller fetches
// the schema from its registry, adds it and decodes the record again.
type UnknownSchemaError struct {
	ID int
}

func (e *UnknownSchemaError) Error() string {
	return "avro schema id " + strconv.Itoa(e.ID) + " is not known to the decoder"
}
