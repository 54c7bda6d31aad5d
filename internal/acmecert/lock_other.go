//go:build !unix

package acmecert

import "context"

// lock does nothing where flock(2) does not exist: processes sharing a
// directory each order on their own.
func lock(context.Context, string) (func(), error) { return func() {}, nil }
