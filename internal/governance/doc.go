// Package governance owns tssgate's M-of-N control over what policy runs:
// the governance file (a threshold and the approvers' OpenSSH Ed25519
// public keys), the manifest that approvers sign (the full SHA-256 of the
// policy file and of every list file it names, or of a governance file),
// OpenSSH signatures in the SSHSIG format (PROTOCOL.sshsig, namespace
// "tssgate-policy"), written and verified here, the signature bundle
// (POLICY.yaml.sigs), and the quorum check.
//
// Threat model: whoever can write the policy directory must not be able to
// change what gets signed on their own. A policy loads only when at least
// Threshold distinct approvers signed its exact manifest; a changed list
// file changes the manifest and so invalidates every signature. The
// governance in force is kept in the decision store (trust on first use),
// so replacing the governance file with one naming the intruder's keys
// needs a quorum of the approvers in force as well. Signatures that do not
// verify, come from keys no approver holds, or repeat an approver are
// reported and never counted.
//
// Formats (the README's "Changing the policy" chapter documents them for
// operators):
//
// Manifest: UTF-8 text, one line per item, each line ending in "\n":
//
//	tssgate-manifest v1
//	policy <64 lower-case hex SHA-256> <policy file name>
//	list <64 lower-case hex SHA-256> <list file path as written in the policy>
//
// The first line is the kind and version (for a governance file the kind
// line is the same and the item is "governance <hex> <name>"). The policy
// line comes first, then one list line per list file in the order the
// policy names them. A name is the rest of the line; names containing a
// newline or carriage return are refused.
//
// Signature: the armored SSHSIG text ssh-keygen -Y sign writes
// ("-----BEGIN SSH SIGNATURE-----", base64 in lines of 70 columns,
// "-----END SSH SIGNATURE-----"), over the manifest bytes, namespace
// "tssgate-policy", hash sha512 (sha256 is accepted when verifying).
//
// Bundle: a text file holding any number of armored signatures one after
// the other. Lines outside a signature must be blank or comments starting
// with '#' (sign writes one comment naming the signer before each
// signature); anything else is an error naming the line.
package governance
