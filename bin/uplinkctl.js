#!/usr/bin/env node
import '../dist/uplinkctl/main.js';
