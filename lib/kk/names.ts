// The first names of the published K&K data (the 51 that occur across its 3- to 6-person files);
// generated puzzles draw their people from this list unless given another.

/** Names used by the published K&K puzzles. */
export const KK_NAMES: readonly string[] = [
  'Emma', 'Liam', 'Olivia', 'Noah', 'Ava', 'Ethan', 'Sophia', 'Mason', 'Isabella', 'William',
  'Mia', 'James', 'Charlotte', 'Benjamin', 'Amelia', 'Lucas', 'Harper', 'Henry', 'Evelyn',
  'Alexander', 'Abigail', 'Michael', 'Emily', 'Daniel', 'Elizabeth', 'Jacob', 'Sofia', 'Logan',
  'Avery', 'Jackson', 'Ella', 'Sebastian', 'Scarlett', 'Jack', 'Grace', 'Aiden', 'Chloe', 'Owen',
  'Victoria', 'Samuel', 'Riley', 'Matthew', 'Aria', 'Joseph', 'Lily', 'Luke', 'Aurora', 'David',
  'Zoey', 'Oliver', 'Penelope',
];
