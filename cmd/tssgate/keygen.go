package main

import (
	"fmt"
	"io"

	"tssgate/internal/token"
)

func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen")
	out := fs.String("out", ".", "directory to write the key pair into (created if missing)")
	bits := fs.Int("bits", 2048, "RSA key size: 2048, 3072 or 4096")
	usage := fmt.Sprintf(`Usage: tssgate keygen --out DIR [--bits 2048|3072|4096]

Writes the callback server's RSA key pair in Cobo's file names:
  DIR/%s  private key, PKCS#1 PEM, mode 0600 (keep it secret)
  DIR/%s  public key, SPKI PEM (give it to the TSS Node: pubkey_path)
It refuses to overwrite existing files.
`, token.PrivateKeyFile, token.PublicKeyFile)
	if code, done := parseFlags(fs, args, usage, stdout, stderr); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keygen: unexpected arguments %q\n", fs.Args())
		return 2
	}
	priv, pub, err := token.GenerateKeyPair(*out, *bits, token.PrivateKeyFile, token.PublicKeyFile)
	if err != nil {
		fmt.Fprintf(stderr, "keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "private key: %s (mode 0600, keep it secret)\npublic key:  %s (configure it on the TSS Node as pubkey_path)\n", priv, pub)
	return 0
}
