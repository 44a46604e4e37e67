//go:build !unix

package testenv

import "os/exec"

// runAs is the OS user a server runs as; elsewhere than Unix always the
// test's own.
type runAs = *struct{}

func postgresCredential() (runAs, error) { return nil, nil }

func chownTo(string, runAs) error { return nil }

func asUser(*exec.Cmd, runAs) {}
