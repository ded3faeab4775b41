"""Board flow: bitstream, system co-simulation, deployment package and its driver."""
