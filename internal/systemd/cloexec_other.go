//go:build !unix

package systemd

// closeOnExec does nothing where systemd cannot pass sockets: ParseListenEnv
// finds none there.
func closeOnExec(int) {}
