package kafkautil

import "errors"

// ErrSecurity is wrapped by ClientOpts' errors: the TLS or SASL settings
// cannot be turned into a client (say, a PEM file changed since the
// configuration was validated).
var ErrSecurity = errors.New("kafka security settings")
