// Native executables inside a bundle (family: native-executable). Matched on magic
// numbers, not file names: a skill's reviewer cannot read machine code.

rule native_elf {
  meta:
    id = "native.elf"
    family = "native-executable"
    severity = "high"
    doc_severity = "high"
    message = "an ELF (Linux) executable or library is in the bundle; ship source or install the tool from a package manager"
  condition:
    uint32(0) == 0x464c457f and filesize > 52
}

rule native_pe {
  meta:
    id = "native.pe"
    family = "native-executable"
    severity = "high"
    doc_severity = "high"
    message = "a Windows executable (PE) is in the bundle; ship source or install the tool from a package manager"
  condition:
    uint16(0) == 0x5a4d and filesize > 64 and uint32(0x3c) < filesize - 4 and uint32(uint32(0x3c)) == 0x00004550
}

rule native_macho {
  meta:
    id = "native.mach-o"
    family = "native-executable"
    severity = "high"
    doc_severity = "high"
    message = "a macOS executable (Mach-O) is in the bundle; ship source or install the tool from a package manager"
  condition:
    filesize > 28 and (
      uint32(0) == 0xfeedface or uint32(0) == 0xfeedfacf or
      uint32(0) == 0xcefaedfe or uint32(0) == 0xcffaedfe or
      // fat binaries share 0xCAFEBABE with Java classes; a fat header counts a few
      // architectures where a class file stores its version (45 or more)
      (uint32be(0) == 0xcafebabe and uint32be(4) < 20)
    )
}
