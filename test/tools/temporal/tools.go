//go:build tools

// Package tools pins the real Temporal server and its SQL schema tool for the
// production test suite; src/sandbox/tools.ts builds both from this module.
package tools

import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
