#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Write a C file holding each template as a string: tmpl_text_NAME, tmpl_len_NAME.
set -e
echo '/* Generated from templates/ by tests/embed.sh. Do not edit. */'
echo '#include <stddef.h>'
for f in "$@"; do
	n=$(basename "$f" .yaml)
	echo "extern const char tmpl_text_$n[];"
	echo "extern const size_t tmpl_len_$n;"
	echo "const char tmpl_text_$n[] ="
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/' "$f"
	echo ";"
	echo "const size_t tmpl_len_$n = sizeof(tmpl_text_$n) - 1;"
done
