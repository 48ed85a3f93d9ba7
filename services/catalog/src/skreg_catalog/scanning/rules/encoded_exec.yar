// Encoded payloads that are decoded and executed (family: encoded-exec).
// A long blob on the same line or in the same file raises these to critical (engine).

rule enc_base64_to_shell {
  meta:
    id = "enc.decode-to-shell"
    family = "encoded-exec"
    severity = "high"
    doc_severity = "high"
    message = "decodes base64/hex and pipes the result into a shell; ship readable scripts instead of encoded ones"
  strings:
    $b64 = /\b(base64|b64)\s{1,8}(-[a-zA-Z]{1,3}\s{1,8}){0,3}(-d|--decode|-D)\b[^\n|]{0,100}\|\s{0,8}(sudo\s{1,8})?(ba|z|da)?sh\b/
    $xxd = /\bxxd\s{1,8}-r\s{1,8}-p\b[^\n|]{0,100}\|\s{0,8}(ba|z)?sh\b/
    $openssl = /\bopenssl\s{1,8}(base64|enc)\s{1,8}[^\n|]{0,80}-d\b[^\n|]{0,80}\|\s{0,8}(ba|z)?sh\b/
  condition:
    any of them
}

rule enc_decode_then_exec_code {
  meta:
    id = "enc.decode-then-exec"
    family = "encoded-exec"
    severity = "high"
    doc_severity = "medium"
    message = "executes data it has just decoded (exec/eval of base64, hex, zlib or marshal); ship readable code instead"
  strings:
    $py = /\b(exec|eval)\s{0,8}\([^\n]{0,120}\b(b64decode|b32decode|b85decode|a85decode|decodebytes|fromhex|unhexlify|zlib\.decompress|marshal\.loads|codecs\.decode)\s{0,8}\(/
    $js = /\b(eval|Function)\s{0,8}\([^\n]{0,120}(\batob\s{0,8}\(|Buffer\.from\s{0,8}\([^\n]{0,200}['"](base64|hex)['"])/
    $ps = /\b(iex|Invoke-Expression)\b[^\n]{0,200}FromBase64String/ nocase
    $ps2 = /FromBase64String[^\n]{0,300}\|\s{0,8}(iex|Invoke-Expression)\b/ nocase
  condition:
    any of them
}

rule enc_powershell_encoded_command {
  meta:
    id = "enc.powershell-encoded-command"
    family = "encoded-exec"
    severity = "critical"
    doc_severity = "high"
    message = "runs PowerShell with an encoded command, which hides what it does; ship the readable script"
  strings:
    $a = /\b(powershell|pwsh)(\.exe)?\b[^\n]{0,120}\s-(e|ec|enc|encodedcommand)\s{1,8}[A-Za-z0-9+\/=]{40,}/ nocase
  condition:
    $a
}
