module github.com/gohttp-smol/gohttp-smol

go 1.26

toolchain go1.26.8
