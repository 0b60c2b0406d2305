package main

import (
	"flag"
	"fmt"
	"io"

	"tssgate/internal/policy"
	"tssgate/internal/txverify"
)

const policyUsage = `Usage:
  tssgate policy check FILE              validate a policy file and print a summary
  tssgate policy test [--config FILE] FILE TESTS.yaml
                                         run policy-as-code tests against a policy

check compiles every rule and list exactly as 'tssgate serve --policy' does
and prints the rules, lists (with sizes) and the version hash that decisions
will carry; exit 1 with precise errors (file, line, rule) otherwise.

test decodes each case's request with the server's own decoder, verifies
each KEYSIGN's transaction bytes as the server does (the built-in token
table, plus tssgate.tokens from --config), evaluates it, and prints PASS or
FAIL per case; exit 1 on any failure.
`

func runPolicy(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), policyUsage) }
	if err := fs.Parse(args); err != nil {
		return flagExit(err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	switch rest[0] {
	case "check":
		if len(rest) != 2 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		p, err := policy.Load(rest[1])
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		fmt.Fprint(stdout, p.Summary().String())
		return 0
	case "test":
		tfs := flag.NewFlagSet("policy test", flag.ContinueOnError)
		tfs.SetOutput(stderr)
		configPath := tfs.String("config", "", "tssgate config file whose tssgate.tokens extend the token table used to verify KEYSIGN cases")
		tfs.Usage = func() { fmt.Fprint(tfs.Output(), policyUsage); tfs.PrintDefaults() }
		if err := tfs.Parse(rest[1:]); err != nil {
			return flagExit(err)
		}
		if tfs.NArg() != 2 {
			fmt.Fprint(stderr, policyUsage)
			return 2
		}
		var tokens []txverify.Token
		if *configPath != "" {
			cfg := DefaultConfig()
			if err := cfg.applyFile(*configPath); err != nil {
				fmt.Fprintf(stderr, "%v\n", err)
				return 1
			}
			tokens = cfg.Tokens
		}
		verifyTx, err := txVerifier(tokens)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		p, err := policy.Load(tfs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		passed, failed, err := policy.RunTestsVerifying(p, tfs.Arg(1), stdout, verifyTx)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			return 1
		}
		if failed > 0 || passed == 0 {
			if passed == 0 && failed == 0 {
				fmt.Fprintf(stderr, "%s: no test cases\n", tfs.Arg(1))
			}
			return 1
		}
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, policyUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "policy: unknown subcommand %q\n\n%s", rest[0], policyUsage)
		return 2
	}
}
