// Command gohttp-smol serves a static site from one small static binary.
//
// This is a placeholder until the server issue lands.
package main

import (
	"fmt"
	"net/http"
	"os"
)

// version is stamped at build time by smol with -X main.version=...
var version = "dev"

func main() {
	addr := ":8080"
	if p := os.Getenv("PORT"); p != "" {
		addr = ":" + p
	}
	fmt.Fprintf(os.Stderr, "gohttp-smol %s listening on %s\n", version, addr)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "gohttp-smol %s\n", version)
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
