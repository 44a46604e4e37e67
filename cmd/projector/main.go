// Command projector turns Debezium change streams into query-ready read
// models. All of it lives in internal/cli; main only hands over the process.
package main

import (
	"context"
	"os"

	"github.com/projectorhq/projector/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
