"""Reproducing the eth0 EBUSY start-up race: iterations on devices in parallel, classified
outcomes, rates with intervals, race hunting, A/B comparison (`harness repro`).

    outcome.py   what an iteration ended as; summarize() -> counts, rate, time to network
    stimulus.py  restart (container, framework, reboot) or a timed link flap
    network.py   waiting for the network, ending early on a settled known signature
    loop.py      one iteration, its artifacts; recovering a device
    hunt.py      delay buckets for link flaps and the rate per bucket
    runner.py    one worker per device, stop conditions, exclusion of lost devices
    target.py    virtual devices (SimFarm) or real ones, and the settings of their iterations
    compare.py   A/B verdict (Fisher's exact test)
    result.py    the finished run and its exit status
    app.py       a whole run: targets -> runner -> result -> reports
"""
