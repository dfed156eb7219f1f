# Sourced after lib.sh by the scripts that serve their own card images in
# reader 1 of a stack ("$reader1", vpcd port $((port + 1))), one at a time.
# The script sets V (mic-vcard), stack_wait, tmp, dir, port and reader1.
# shellcheck shell=bash

card_pid=

cleanup() {
	[[ -n $card_pid ]] && kill -TERM "$card_pid" 2>/dev/null
	"$MIC_READER_STACK" stop --dir "$dir" >/dev/null 2>&1
}
trap cleanup EXIT

start_card() { # start_card IMAGE: serve it in reader 1, wait till present
	"$V" run "$1" --port "$((port + 1))" 2>>"$tmp/card.log" &
	card_pid=$!
	"$stack_wait" wait --timeout 10000 --present "$reader1" >/dev/null
}

stop_card() { # the card leaves reader 1
	kill -TERM "$card_pid" 2>/dev/null
	wait "$card_pid" 2>/dev/null
	card_pid=
	"$stack_wait" wait --timeout 10000 --absent "$reader1" >/dev/null
}
