# Turns one file into a C source that defines `embedded_<IDENT>`: its name,
# its bytes and its length. Run by CMake as a script at build time.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}" "/* Generated from ${NAME} by cmake/embed.cmake: do not edit. */\n"
  "#include \"embedded.h\"\n"
  "static const unsigned char data[] = {\n${bytes}0x00};\n"
  "const struct embedded_file embedded_${IDENT} = {\"${NAME}\", data, ${size}};\n")
