"""Documents we produce: the 汇总表, the recommendation report, the packet, the digest."""
