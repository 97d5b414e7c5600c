"""From a build folder to a chip: resource estimates and fit checks (:mod:`.estimate`),
synthesis and place-and-route reports (:mod:`.synth`), the hardware self-test top
(:mod:`.selftest`) and board bitstreams (:mod:`.bitstream`). Device data is in
:mod:`.devices`."""
