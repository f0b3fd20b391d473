// Builds Khabar's second English name list from the lexicon of the npm package compromise
// (MIT licence, Spencer Kelly and contributors): its organizations, sports teams, regions,
// well-known people, demonyms, given names and surnames, lower-cased as it keeps them.
// Run by `cargo xtask gazetteer`: node build_compromise_lexicon.mjs PACKAGE_DIR OUTPUT VERSION
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'

const [dir, output, version] = process.argv.slice(2)
const nlp = (await import(pathToFileURL(join(dir, 'node_modules/compromise/src/three.js')).href)).default
const lexicon = nlp.model().one.lexicon
const sections = {
  Organization: 'org',
  SportsTeam: 'team',
  Region: 'region',
  Person: 'person',
  Demonym: 'demonym',
  MaleName: 'given',
  FemaleName: 'given',
  FirstName: 'given',
  LastName: 'surname',
}
// Abbreviations the lexicon files as organizations: words inside names, not names.
const notNames = new Set(['dept', 'univ', 'assn', 'inc', 'ltd', 'co', 'corp', 'amt', 'bros'])
const lines = new Set()
for (const [word, tags] of Object.entries(lexicon)) {
  for (const tag of Array.isArray(tags) ? tags : [tags]) {
    const section = sections[tag]
    if (section && /\p{L}/u.test(word) && !notNames.has(word)) {
      lines.add(`${section}\t${word}`)
    }
  }
}
const header = [
  `# English names from the lexicon of the npm package compromise ${version} (MIT licence,`,
  '# Spencer Kelly and contributors), lower-cased as it keeps them. Built by `cargo xtask',
  '# gazetteer`. Sections: org, team, region, person, demonym, given, surname.',
]
writeFileSync(output, header.concat([...lines].sort()).join('\n') + '\n')
