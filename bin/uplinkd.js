#!/usr/bin/env node
import '../dist/uplinkd/main.js';
